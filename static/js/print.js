// The print view's one button (no inline handlers: the CSP forbids them).
(function () {
  "use strict";
  document.addEventListener("click", function (evt) {
    if (evt.target.closest("[data-print]")) window.print();
  });
})();
