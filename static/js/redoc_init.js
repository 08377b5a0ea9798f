// Starts Redoc on /api/redoc/: the schema URL and the page's CSP nonce come from the container's data attributes.
(function () {
  "use strict";
  const container = document.getElementById("redoc-container");
  if (!container || typeof Redoc === "undefined") {
    return;
  }
  Redoc.init(container.dataset.schemaUrl, { nonce: container.dataset.styleNonce }, container);
})();
