/* global document, SwaggerUIBundle */
// The API reference page's own script (served from 'self': the page allows no inline script).
// Swagger UI reads the OpenAPI document the gateway generates; "Authorize" takes a bearer token
// (exchange an API key at POST /auth/token, which the document describes).
(function () {
  var root = document.getElementById('swagger-ui');
  root.textContent = '';
  SwaggerUIBundle({
    url: root.getAttribute('data-spec'),
    domNode: root,
    // Swagger UI would otherwise load a validity badge from validator.swagger.io: nothing leaves the gateway.
    validatorUrl: null,
    deepLinking: true,
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
})();
