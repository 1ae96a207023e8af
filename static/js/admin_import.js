// CSV import page: refuse a file over the size limit before uploading it, and show the
// server's 413 answer (the report partial with its message) instead of a generic error toast.
(function () {
  "use strict";

  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (!input.matches || !input.matches(".import-form input[type=file][data-max-bytes]")) return;
    var file = input.files && input.files[0];
    var tooLarge = file && file.size > Number(input.dataset.maxBytes);
    input.setCustomValidity(tooLarge ? input.dataset.tooLarge : "");
    if (tooLarge) input.reportValidity();
  });

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    if (evt.detail.xhr.status === 413 && target && target.classList.contains("import-report")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
})();
