// taskapi's Swagger UI set-up: a file of its own, because the page's Content-Security-Policy
// allows no inline script.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    // Always the document this server serves: `?url=` and `?configUrl=` are ignored.
    url: "/openapi.json",
    queryConfigEnabled: false,
    // A bearer token typed into "Authorize" lives only as long as the page.
    persistAuthorization: false,
    // No request to the public validator (the Content-Security-Policy would block it anyway).
    validatorUrl: null,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "BaseLayout"
  });
});
