// The settings page: copy a new API token to the clipboard, and let the password form show
// its "too many attempts" answer (429) in place instead of a generic error toast.
(function () {
  "use strict";

  // The copy button is useless without this script, so it starts hidden.
  function reveal() {
    document.querySelectorAll("[data-copy-target][hidden]").forEach(function (btn) {
      btn.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", reveal);
  document.addEventListener("htmx:afterSettle", reveal);

  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest("[data-copy-target]");
    if (!btn) return;
    var field = document.getElementById(btn.dataset.copyTarget);
    if (!field) return;
    field.focus();
    field.select();
    function done() { btn.textContent = btn.dataset.copiedText || btn.textContent; }
    function fallback() {
      try { if (document.execCommand("copy")) done(); } catch (e) { /* the text stays selected */ }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, fallback);
    } else {
      fallback();
    }
  });

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var elt = evt.detail.elt;
    if (evt.detail.xhr.status === 429 && elt && elt.closest && elt.closest("[data-swap-throttled]")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
})();
