/* The small map on an outfall's record page: its position, its town's boundary and its receiving water.
 *
 * Progressive enhancement: the page states the coordinates in text; this script only adds the map.
 * It reads everything from the JSON block #outfall-map-data (written by the server) and draws the
 * portal's own geometry, so it works with no basemap at all (intranet, offline, BASEMAP = "none").
 * The outfall's name comes from a ledger: it is shown as text (static/js/basemap.js), never as HTML.
 */
(function () {
  "use strict";

  var container = document.getElementById("outfall-map");
  var source = document.getElementById("outfall-map-data");
  if (!container || !source || typeof window.L === "undefined" || !window.PortalMaps) {
    return;
  }
  var data;
  try {
    data = JSON.parse(source.textContent);
  } catch (error) {
    return;
  }
  if (!data || !data.point) {
    return;
  }

  container.hidden = false;
  var map = window.L.map(container, {
    scrollWheelZoom: false,   // the page scrolls past the map; zoom with the buttons or keyboard
    attributionControl: true
  });
  var point = window.L.latLng(data.point[0], data.point[1]);
  // Close enough to see the bank, far enough to see which part of the town it is in. The view is set
  // before any layer is added: Leaflet cannot draw vectors on a map that has none yet.
  map.setView(point, 13);

  window.PortalMaps.addBasemap(map, data.layers);

  var bounds = null;
  if (data.town && data.town.geometry) {
    var town = window.L.geoJSON(data.town.geometry, {
      style: { color: "#0b3d5c", weight: 2, dashArray: "6 4", fillColor: "#0b3d5c", fillOpacity: 0.06 },
      interactive: false
    }).addTo(map);
    if (data.town.source) {
      // Attributions are HTML: the names come from imported data, so they go in escaped, as text.
      var credit = window.PortalMaps.labelElement(data.town.name + "：" + data.town.source);
      map.attributionControl.addAttribution(credit.outerHTML);
    }
    bounds = town.getBounds();
  }
  if (data.water && data.water.geometry) {
    window.L.geoJSON(data.water.geometry, {
      style: { color: "#1f6fb2", weight: 4, fillColor: "#1f6fb2", fillOpacity: 0.3 },
      interactive: false
    }).addTo(map);
  }

  window.L.circleMarker(point, {
    radius: 9, color: "#1b1b1b", weight: 3, fillColor: "#ffbf47", fillOpacity: 1
  }).bindTooltip(window.PortalMaps.labelElement(data.name), { permanent: false, direction: "top" }).addTo(map);

  if (bounds && !bounds.contains(point)) {
    map.fitBounds(bounds.extend(point), { padding: [16, 16] });
  }
}());
