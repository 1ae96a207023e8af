// Nothing typed is lost: a form marked <form data-local-draft="KEY"> (the composer, the comment
// box) keeps what is typed in this browser's localStorage until it is sent. A dropped
// connection, a reload or an expired session (log in again, open the page again) brings it back.
// The server marks the fresh form it answers a successful send with `data-local-draft-sent`:
// that clears the kept text. <body data-no-local-drafts> (a shared terminal) switches all of it
// off and forgets whatever an earlier page kept.
(function () {
  "use strict";
  var PREFIX = "arigato.draft.";
  var MAX_AGE_MS = 14 * 24 * 3600 * 1000;
  var SKIP_TYPES = ["hidden", "file", "submit", "button", "search", "password"];
  var SKIP_NAMES = ["csrf_token", "idempotency_key"];

  function storage() {
    try {
      return window.localStorage;
    } catch (e) {
      return null;  // storage refused (privacy settings): the forms work as before
    }
  }
  var store = storage();
  if (!store) return;

  function forgetAll() {
    for (var i = store.length - 1; i >= 0; i--) {
      var key = store.key(i);
      if (key && key.indexOf(PREFIX) === 0) store.removeItem(key);
    }
  }
  function off() {
    return document.body.hasAttribute("data-no-local-drafts");
  }

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && SKIP_NAMES.indexOf(el.name) === -1 && SKIP_TYPES.indexOf(el.type) === -1;
    });
  }
  function read(form) {
    var values = {};
    var typed = false;
    fields(form).forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked) values[el.name] = el.value;
      } else {
        values[el.name] = el.value;
        if ((el.tagName === "TEXTAREA" || el.type === "text") && el.value.trim()) typed = true;
      }
    });
    return typed ? values : null;
  }
  function save(form) {
    if (!form.isConnected) return;  // swapped out by the answer to its send
    var key = PREFIX + form.dataset.localDraft;
    var values = read(form);
    if (values) store.setItem(key, JSON.stringify({ at: Date.now(), values: values }));
    else store.removeItem(key);
  }
  function load(form) {
    var key = PREFIX + form.dataset.localDraft;
    try {
      var kept = JSON.parse(store.getItem(key) || "null");
      if (kept && Date.now() - kept.at < MAX_AGE_MS) return kept.values;
    } catch (e) { /* a damaged entry: forget it */ }
    store.removeItem(key);
    return null;
  }
  function restore(form) {
    var values = load(form);
    if (!values) return;
    // Text the server put back (a refused send shows what was sent) wins over the kept copy.
    var shown = fields(form).some(function (el) {
      return (el.tagName === "TEXTAREA" || el.type === "text") && el.value.trim();
    });
    if (shown) return;
    fields(form).forEach(function (el) {
      if (!(el.name in values)) return;
      if (el.type === "radio" || el.type === "checkbox") el.checked = values[el.name] === el.value;
      else el.value = values[el.name];
      el.dispatchEvent(new Event("change", { bubbles: true }));
    });
    form.setAttribute("data-local-draft-restored", "");
  }
  function setUp(root) {
    var forms = root.querySelectorAll ? root.querySelectorAll("form[data-local-draft]") : [];
    if (root.matches && root.matches("form[data-local-draft]")) forms = [root].concat(Array.prototype.slice.call(forms));
    Array.prototype.forEach.call(forms, function (form) {
      if (form.hasAttribute("data-local-draft-sent")) {
        clearTimeout(timer);
        store.removeItem(PREFIX + form.dataset.localDraft);
      } else {
        restore(form);
      }
    });
  }

  var timer = null;
  function changed(evt) {
    var form = evt.target.form || (evt.target.closest && evt.target.closest("form"));
    if (!form || !form.dataset.localDraft || off()) return;
    clearTimeout(timer);
    timer = setTimeout(function () { save(form); }, 250);
  }

  function start() {
    if (off()) { forgetAll(); return; }
    document.addEventListener("input", changed);
    document.addEventListener("change", changed);
    // Saved at once before the form leaves (a send, or the page being closed).
    document.addEventListener("submit", function (evt) {
      if (!evt.target.dataset || !evt.target.dataset.localDraft) return;
      clearTimeout(timer);
      save(evt.target);
    }, true);
    document.addEventListener("htmx:load", function (evt) { setUp(evt.detail.elt); });
    setUp(document);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
