// Starts Swagger UI on the page's #swagger-ui element, reading the document URL from its
// data-url attribute. A file rather than an inline script: the page's Content-Security-Policy
// allows scripts from this origin only.
window.addEventListener("load", function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-url"),
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Tokens pasted into "Authorize" stay in this tab's memory only.
    persistAuthorization: false,
    // No request to any other origin: no validator badge, no external links fetched.
    validatorUrl: null,
  });
});
