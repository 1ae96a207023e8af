// Arigato Board's own script: small, no inline handlers (the CSP forbids them).
(function () {
  "use strict";
  // The CSRF token rides on every HTMX request from one place: <body hx-headers>.
  // Forms without JavaScript carry it as a hidden field instead.
  document.addEventListener("htmx:responseError", function (evt) {
    var region = document.getElementById("toasts");
    if (!region) return;
    var msg = document.createElement("p");
    msg.className = "toast";
    msg.setAttribute("role", "alert");
    msg.textContent = region.dataset.errorText || "Error";
    region.appendChild(msg);
    setTimeout(function () { msg.remove(); }, 6000);
  });
  // The language switch submits itself when a language is picked.
  document.addEventListener("change", function (evt) {
    var t = evt.target;
    if (t && t.matches && t.matches("[data-autosubmit]")) t.form.requestSubmit();
  });
})();
