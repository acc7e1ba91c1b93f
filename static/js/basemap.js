/* What every map of the portal shares (the home map, an outfall's small map, the report form's map):
 * the configured basemap, Leaflet's attribution without the flag, and labels built from text.
 *
 * The basemap's tile layers come from the server (portal.public.map.basemap_layers, from BASEMAP:
 * osm, tianditu or none) as a JSON list of {url, subdomains, maxZoom, attribution}.
 *
 * Names on a map come from imported data (ledgers, `import-areas`): they are always put into the page
 * as text (textContent), never as HTML, so a name holding markup is shown literally and never runs.
 * Leaflet treats a string given to bindTooltip/bindPopup as HTML: give it labelElement(...) instead.
 *
 * Plain ES2017 without modules; load it after leaflet.js and before the page's own map script.
 */
(function () {
  'use strict';

  var LEAFLET_LINK = '<a href="https://leafletjs.com">Leaflet</a>';  // a fixed text, no data in it

  /** Draw the configured basemap's tile layers on a map, and a plain Leaflet credit. */
  function addBasemap(map, layers) {
    map.attributionControl.setPrefix(LEAFLET_LINK);
    (layers || []).forEach(function (layer) {
      var options = {maxZoom: layer.maxZoom || 18, attribution: layer.attribution || ''};
      if (layer.subdomains) options.subdomains = layer.subdomains;
      window.L.tileLayer(layer.url, options).addTo(map);
    });
  }

  /** The basemap layers a map element carries in its data-basemap-layers attribute (JSON). */
  function layersOf(element) {
    try {
      return JSON.parse(element.getAttribute('data-basemap-layers') || '[]');
    } catch (error) {
      return [];  // a broken attribute costs the tiles, not the map
    }
  }

  /** An element holding the text as text: what tooltips and popups are given instead of HTML. */
  function labelElement(text, className) {
    var node = document.createElement('span');
    if (className) node.className = className;
    node.textContent = text === undefined || text === null ? '' : String(text);
    return node;
  }

  /** Names of towns and waters drawn on a map as permanent text labels (the report form's map). */
  function nameLabels(layer, name, className, pane) {
    if (!name) return;
    var options = {permanent: true, direction: 'center', className: className, interactive: false};
    if (pane) options.pane = pane;
    layer.bindTooltip(labelElement(name), options);
  }

  window.PortalMaps = {addBasemap: addBasemap, layersOf: layersOf, labelElement: labelElement,
                       nameLabels: nameLabels};
}());
