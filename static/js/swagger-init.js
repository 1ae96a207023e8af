// Starts Swagger UI on /api/docs (kept in a file: the CSP allows no inline script).
(function () {
  var el = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: el.dataset.openapiUrl, domNode: el });
})();
