// Starts Redoc on /api/redoc/ with the schema URL from the container's data attribute.
(function () {
  "use strict";
  const container = document.getElementById("redoc-container");
  if (!container || typeof Redoc === "undefined") {
    return;
  }
  Redoc.init(container.dataset.schemaUrl, {}, container);
})();
