// The shop's shared terminal (body[data-terminal]): sign out after a while without input.
//
// Every input (a tap, a key, scrolling) restarts the idle time and, at most every few
// seconds, tells the server (keepalive), whose own expiry is a little later than ours: the
// server signs an abandoned terminal out even without this script. In the last 15 seconds
// a countdown shows; at zero, what the composer holds is posted to the idle sign-out, which
// keeps it as a draft of its author (nothing typed is stored in this browser).
(function () {
  "use strict";
  var body = document.body;
  if (!body || !body.hasAttribute("data-terminal")) return;
  // Nothing of anyone's is kept in this browser: htmx's history snapshots (switched off on a
  // terminal by base.html's htmx-config) or anything left from before it was a terminal.
  try {
    window.sessionStorage.clear();
    window.localStorage.clear();
  } catch (e) {
    // storage switched off: nothing to clear
  }
  if (!body.dataset.idleSeconds) return;
  var idleMs = Number(body.dataset.idleSeconds) * 1000;
  var keepaliveUrl = body.dataset.keepaliveUrl;
  var idleUrl = body.dataset.idleUrl;
  var SHOW_MS = 15000;
  var sendEvery = Math.min(5000, idleMs / 3);
  var csrf = "";
  try {
    csrf = JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
  } catch (e) {
    csrf = "";
  }
  var lastInput = Date.now();
  var lastSent = Date.now();
  var pending = null;
  var leaving = false;
  var countdown = document.getElementById("idle-countdown");

  function go(response) {
    window.location.assign(response && response.url ? response.url : window.location.href);
  }

  function keepalive() {
    pending = null;
    lastSent = Date.now();
    fetch(keepaliveUrl, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf },
      credentials: "same-origin",
    }).then(function (r) {
      if (r.redirected) go(r); // the session was already over
    }).catch(function () {});
  }

  function onInput() {
    if (leaving) return;
    lastInput = Date.now();
    if (countdown) countdown.hidden = true;
    if (pending === null) {
      pending = setTimeout(keepalive, Math.max(0, lastSent + sendEvery - lastInput));
    }
  }

  function composerData() {
    var data = new FormData();
    var form = document.getElementById("composer");
    if (!form) return data;
    ["kind", "title", "body", "unit", "received_on", "channel", "product", "category"].forEach(
      function (name) {
        var field = form.elements.namedItem(name);
        if (field && field.value !== undefined) data.append(name, field.value);
        else if (field && field.length) {
          for (var i = 0; i < field.length; i++) {
            if (field[i].checked) data.append(name, field[i].value);
          }
        }
      }
    );
    return data;
  }

  function signOut() {
    leaving = true;
    if (pending !== null) clearTimeout(pending);
    fetch(idleUrl, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf },
      body: composerData(),
      credentials: "same-origin",
    }).then(go, function () {
      window.location.reload();
    });
  }

  function tick() {
    if (leaving) return;
    var left = lastInput + idleMs - Date.now();
    if (left <= 0) {
      if (countdown) countdown.textContent = (countdown.dataset.template || "").replace("{n}", "0");
      signOut();
      return;
    }
    if (countdown && left <= SHOW_MS) {
      countdown.textContent = (countdown.dataset.template || "{n}").replace(
        "{n}",
        String(Math.ceil(left / 1000))
      );
      countdown.hidden = false;
    }
  }

  ["pointerdown", "keydown", "input", "wheel", "touchstart", "scroll"].forEach(function (kind) {
    window.addEventListener(kind, onInput, { passive: true, capture: true });
  });
  setInterval(tick, 250);
  tick();
})();
