// Starts the vendored Swagger UI on /api/v1/docs (no inline script: the CSP forbids it).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // No badge from validator.swagger.io: nothing leaves our origin (and the CSP would
    // refuse the image anyway).
    validatorUrl: null,
  });
})();
