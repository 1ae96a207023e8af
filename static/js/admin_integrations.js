// The integration form: only the chosen kind's settings are shown and sent (the form
// works without this: every kind's fieldset is then sent, the kind's own are read).
(function () {
  var select = document.getElementById("integration-kind");
  if (!select || select.tagName !== "SELECT") return;
  select.addEventListener("change", function () {
    document.querySelectorAll(".kind-fields").forEach(function (fs) {
      var on = fs.dataset.kind === select.value;
      fs.hidden = !on;
      fs.disabled = !on;
    });
  });
})();
