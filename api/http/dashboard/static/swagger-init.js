// Swagger UI over the served OpenAPI document (a file, not inline: a strict CSP stays possible).
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });
