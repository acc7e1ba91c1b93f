/* The public map: outfalls from /api/v1/map for the visible box — clusters coloured by their
 * rectification statuses, single outfalls at street zoom — over town boundaries and rivers from the
 * portal's own data (so no basemap is needed). The map asks again as it is panned and zoomed.
 *
 * Plain ES2017 without modules, for phones and WeChat's browser. Everything configurable comes from
 * data- attributes of #map; every text comes from the page's #map-strings, translated by the server
 * (the map data hold codes only). The filter form stays a plain GET form: here it asks for the map
 * data with the same parameters and keeps the address bar in step (history.replaceState), so the
 * page can be shared as it is.
 *
 * Hooks for tests: #map[data-state] is "loading", "ready" or "error"; #map[data-outfall-count] is
 * the number of outfalls in the latest answer (clustered or not); popups link to the outfall page
 * with a.map-popup-link. The optional layer of published citizen reports (#map-reports-checkbox)
 * sets #map[data-report-count] once loaded; its popups link to the report's page with a.map-report-link.
 */
(function () {
  'use strict';

  var mapElement = document.getElementById('map');
  var stringsElement = document.getElementById('map-strings');
  if (!mapElement || !stringsElement || !window.L || !window.PortalMaps) {
    return;  // no map on this page, or Leaflet did not load: the page works without it
  }
  var strings = JSON.parse(stringsElement.textContent);
  var data = mapElement.dataset;
  var form = document.getElementById('map-filter-form');
  var listLink = document.getElementById('map-list-link');
  var statusLine = document.getElementById('map-status');
  var unlocatedNote = document.getElementById('map-unlocated');
  var STATUS_CLASS = /^[a-z_]+$/;

  document.documentElement.classList.add('has-map');

  /** A text of the page with {placeholders} filled in. */
  function t(key, values) {
    var text = strings[key] !== undefined ? String(strings[key]) : key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split('{' + name + '}').join(String(values[name]));
    });
    return text;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function formatDate(iso) {
    var parts = (iso || '').split('-');
    if (parts.length !== 3) return iso || '';
    return t('date', {y: parts[0], m: Number(parts[1]), d: Number(parts[2]), mm: parts[1], dd: parts[2]});
  }

  function fetchJson(url, signal) {
    return fetch(url, {credentials: 'same-origin', signal: signal,
                       headers: {Accept: 'application/geo+json, application/json'}})
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) {
            var errors = (body && body.errors) || [];
            throw new Error(errors.map(function (e) { return e.description; }).join(' ') || response.statusText);
          }
          return body;
        });
      });
  }

  // ── The map and its basemap ────────────────────────────────────────────────────────────────────
  var centre = JSON.parse(data.centre || '[52.0306, 123.5888]');
  var map = L.map(mapElement, {keyboard: true, zoomControl: true, minZoom: 3, maxZoom: 18})
    .setView(centre, Number(data.zoom) || 9);
  window.PortalMaps.addBasemap(map, window.PortalMaps.layersOf(mapElement));
  // Towns below rivers below markers, whatever order the layers load in.
  map.createPane('towns').style.zIndex = 350;
  map.createPane('waters').style.zIndex = 380;
  map.createPane('townNames').style.zIndex = 390;  // under the markers, which must stay clickable

  var fitted = false;
  var initialParams = new URLSearchParams(window.location.search);
  if (initialParams.get('bbox')) {
    var box = initialParams.get('bbox').split(',').map(Number);
    if (box.length === 4 && box.every(isFinite)) {
      map.fitBounds([[box[1], box[0]], [box[3], box[2]]], {animate: false});
      fitted = true;
    }
  }
  // Else the towns' extent, which the page gives (data-bounds): the first view is then known before
  // the towns' GeoJSON has come, and the outfalls can be asked for at once.
  var extent = JSON.parse(data.bounds || 'null');
  if (!fitted && extent && extent.length === 4 && extent.every(isFinite)) {
    fitOnce(L.latLngBounds([[extent[1], extent[0]], [extent[3], extent[2]]]));
  }

  function fitOnce(bounds) {
    if (!fitted && bounds && bounds.isValid()) {
      // Not animated: an animated zoom ends in a move, which would drop the outfalls asked for meanwhile.
      map.fitBounds(bounds, {padding: [16, 16], maxZoom: 13, animate: false});
      fitted = true;
    }
  }

  // ── Towns and rivers: the map's own geography ─────────────────────────────────────────────────
  function loadTowns() {
    return fetchJson(data.townsUrl).then(function (collection) {
      var sources = {};
      var layer = L.geoJSON(collection, {
        pane: 'towns',
        interactive: false,
        style: {color: '#0b3d5c', weight: 2, dashArray: '6 4', fillColor: '#0b3d5c', fillOpacity: 0.04},
        onEachFeature: function (feature, townLayer) {
          var props = feature.properties || {};
          if (props.boundary_source) sources[props.boundary_source] = true;
          // A town's name comes from `import-areas`: shown as text, never as HTML.
          window.PortalMaps.nameLabels(townLayer, props.name, 'town-label', 'townNames');
        }
      }).addTo(map);
      var note = document.getElementById('map-boundary-note');
      if (note && Object.keys(sources).length) {
        note.textContent = t('boundary_sources', {sources: Object.keys(sources).join(t('separator'))});
        note.hidden = false;
      }
      return layer;
    }).catch(function () { return null; });
  }

  function loadWaters() {
    return fetchJson(data.watersUrl).then(function (collection) {
      L.geoJSON(collection, {
        pane: 'waters',
        style: function (feature) {
          var isLine = /LineString$/.test(feature.geometry.type);
          return isLine ? {color: '#1f78b4', weight: 3, opacity: 0.9}
                        : {color: '#1f78b4', weight: 1, fillColor: '#a6cee3', fillOpacity: 0.8};
        },
        onEachFeature: function (feature, waterLayer) {
          var props = feature.properties || {};
          var text = props.target_class
            ? t('water_tooltip', {name: props.name, kind: props.kind_label, target: props.target_class})
            : t('water_tooltip_no_target', {name: props.name, kind: props.kind_label});
          waterLayer.bindTooltip(window.PortalMaps.labelElement(text), {sticky: true});
        }
      }).addTo(map);
    }).catch(function () { /* rivers are a help, not a requirement */ });
  }

  // ── Outfalls: what the visible box holds, from /api/v1/map, asked again as the map moves ─────────
  // Below street zoom the server answers clusters (one per grid cell: a count, its statuses, overdue)
  // and single outfalls only where a cell holds one; at street zoom, single outfalls. Either way at
  // most 2,000 features, however large the registry: the page never downloads the whole of it.
  var icons = {};
  var markersByCode = {};
  var singles = [];          // the single outfalls of the latest answer
  var pendingPopup = null;   // an outfall to open once the map has moved to it ("show on map")
  var outfallsLayer = {points: L.layerGroup().addTo(map), clusters: L.layerGroup().addTo(map), singles: {}};
  var controllers = {};      // the request in flight per layer, aborted when the map moves again
  // The status colours of static/css/map.css, for the ring of a cluster (drawn, so not in CSS).
  var STATUS_COLOURS = {not_started: '#b3261e', in_progress: '#f2c14e', completed: '#1e6b34',
                        closed: '#0a5391', none: '#ffffff'};
  var MAX_ZOOM = 18;

  function statusKey(status) {
    return status && STATUS_CLASS.test(status) ? status : 'none';
  }

  function statusLabel(props) {
    return props.status ? (strings.status_labels[props.status] || props.status) : strings.status_labels.none;
  }

  function typeLabel(props) {
    return strings.type_labels[props.type] || props.type || '';
  }

  /** One shared icon per type, status and overdue flag. */
  function outfallIcon(props) {
    var status = statusKey(props.status);
    var key = props.type + '|' + status + '|' + (props.overdue ? 1 : 0);
    if (!icons[key]) {
      var mark = strings.type_marks[props.type] || typeLabel(props).charAt(0) || '?';
      var body = element('span', 'mk-body', mark);
      var holder = element('div');
      body.setAttribute('aria-hidden', 'true');  // the marker's title names it in full
      holder.appendChild(body);
      if (props.overdue) {
        var flag = element('span', 'mk-flag', '!');
        flag.setAttribute('aria-hidden', 'true');
        holder.appendChild(flag);
      }
      // The icon's HTML is serialised from nodes built with textContent: any text in it is escaped.
      icons[key] = L.divIcon({
        className: 'mk mk-status-' + status + (props.overdue ? ' mk-overdue' : ''),
        html: holder.innerHTML, iconSize: [28, 28], iconAnchor: [14, 14], popupAnchor: [0, -14]
      });
    }
    return icons[key];
  }

  function markerTitle(props) {
    var title = t('marker_title', {name: props.name, code: props.code, status: statusLabel(props)});
    return props.overdue ? title + ' · ' + t('overdue') : title;
  }

  function popupContent(props) {
    var box = element('div', 'map-popup');
    var heading = element('h3', null, props.name);
    if (props.is_demo) {
      heading.appendChild(document.createTextNode(' '));
      heading.appendChild(element('span', 'badge badge-demo', t('demo')));
    }
    box.appendChild(heading);
    var facts = element('dl');
    function fact(label, value) {
      facts.appendChild(element('dt', null, label));
      var dd = element('dd');
      if (value && value.nodeType) dd.appendChild(value); else dd.textContent = value || t('no_record');
      facts.appendChild(dd);
    }
    fact(t('code'), props.code);
    fact(t('type'), typeLabel(props));
    fact(t('town'), props.town);
    fact(t('water_body'), props.water_body);
    var status = element('span', null, statusLabel(props));
    if (props.overdue) {
      status.appendChild(document.createTextNode(' '));
      status.appendChild(element('strong', 'badge badge-overdue', t('overdue')));
    }
    fact(t('status'), status);
    if (props.status) {
      var due = props.deadline ? formatDate(props.deadline) : t('no_deadline');
      if (props.transition_ends_on) {
        due += t('separator') + t('transition', {date: formatDate(props.transition_ends_on)});
      }
      fact(t('deadline'), due);
    }
    box.appendChild(facts);
    var link = element('a', 'map-popup-link', t('details_link'));
    link.href = props.url;
    box.appendChild(link);
    return box;
  }

  function outfallMarker(feature) {
    var props = feature.properties;
    var c = feature.geometry.coordinates;
    var title = markerTitle(props);
    var marker = L.marker([c[1], c[0]], {icon: outfallIcon(props), title: title, alt: title, keyboard: true,
                                         riseOnHover: true});
    marker.bindPopup(function () { return popupContent(props); }, {maxWidth: 300, minWidth: 200});
    return marker;
  }

  /** A cluster: its count in a circle, ringed by its statuses' shares (or one colour), "!" if overdue. */
  function clusterMarker(feature, name, colours) {
    var props = feature.properties;
    var c = feature.geometry.coordinates;
    var size = props.count < 10 ? 32 : props.count < 100 ? 38 : props.count < 1000 ? 44 : 50;
    var holder = element('div');
    var number = element('span', 'mk-count', String(props.count));
    number.setAttribute('aria-hidden', 'true');
    var stops = [];
    var done = 0;
    Object.keys(colours).forEach(function (key) {
      var share = (props.by_status[key] || 0) / props.count * 100;
      if (share > 0) stops.push(colours[key] + ' ' + done + '% ' + (done += share) + '%');
    });
    // Set through the CSSOM, which the Content-Security-Policy allows (a style attribute it would not).
    if (stops.length) {
      number.style.background = 'radial-gradient(#0b3d5c 0 58%, transparent 60%), conic-gradient(' +
                                stops.join(',') + ')';
    }
    holder.appendChild(number);
    if (props.overdue) {
      var flag = element('span', 'mk-flag', '!');
      flag.setAttribute('aria-hidden', 'true');
      holder.appendChild(flag);
    }
    // Clusters are focusable buttons too (Enter zooms in): give them a name a screen reader reads.
    holder.appendChild(element('span', 'visually-hidden', name));
    var marker = L.marker([c[1], c[0]], {
      icon: L.divIcon({html: holder, className: 'mk-cluster', iconSize: [size, size]}),
      title: name, alt: name, keyboard: true
    });
    marker.on('click', function () {
      var b = props.bounds;
      var bounds = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
      if (bounds.getNorth() - bounds.getSouth() < 1e-6 && bounds.getEast() - bounds.getWest() < 1e-6) {
        map.setView(bounds.getCenter(), Math.min(MAX_ZOOM, map.getZoom() + 3));  // all in one spot
      } else {
        map.fitBounds(bounds, {padding: [24, 24], maxZoom: MAX_ZOOM});
      }
    });
    return marker;
  }

  function outfallClusterName(props) {
    return props.overdue ? t('cluster_overdue', {n: props.count, overdue: props.overdue})
                         : t('cluster', {n: props.count});
  }

  /** Draw an answer: clusters anew; single markers kept while unchanged, so that an open popup stays
   *  open when the map moves (a popup's own auto-pan moves it) and its outfall is still in view. */
  function redraw(layer, features, single, cluster) {
    var kept = {};
    layer.clusters.clearLayers();
    features.forEach(function (feature) {
      var props = feature.properties;
      if (props.kind === 'cluster') {
        layer.clusters.addLayer(cluster(feature));
        return;
      }
      var key = JSON.stringify(feature);
      var marker = layer.singles[props.code];
      if (!marker || marker.key !== key) {
        if (marker) layer.points.removeLayer(marker);
        marker = single(feature);
        marker.key = key;
        layer.points.addLayer(marker);
      }
      kept[props.code] = marker;
    });
    Object.keys(layer.singles).forEach(function (code) {
      if (!kept[code]) layer.points.removeLayer(layer.singles[code]);
    });
    layer.singles = kept;
    return kept;
  }

  /** The visible box and zoom as /api/v1/map reads them, with the filter's parameters. */
  function viewParams(params) {
    var b = map.getBounds();
    var west = Math.max(-180, b.getWest()), east = Math.min(180, b.getEast());
    if (!(west < east)) { west = -180; east = 180; }
    params.set('bbox', [west, Math.max(-90, b.getSouth()), east, Math.min(90, b.getNorth())]
      .map(function (v) { return v.toFixed(5); }).join(','));
    params.set('zoom', String(Math.max(0, Math.min(19, Math.round(map.getZoom())))));
    return params;
  }

  /** Fetch a layer's answer for the current view, aborting that layer's previous request. */
  function fetchView(layer, params) {
    if (controllers[layer]) controllers[layer].abort();
    var controller = window.AbortController ? new AbortController() : null;
    controllers[layer] = controller;
    params.set('layer', layer);
    return fetchJson(data.mapUrl + '?' + viewParams(params).toString(), controller && controller.signal);
  }

  function loadOutfalls() {
    mapElement.setAttribute('data-state', 'loading');
    statusLine.textContent = t('loading');
    return fetchView('outfalls', currentParams()).then(function (answer) {
      var features = answer.features || [];
      singles = features.filter(function (feature) { return feature.properties.kind === 'outfall'; });
      markersByCode = redraw(outfallsLayer, features, outfallMarker, function (feature) {
        return clusterMarker(feature, outfallClusterName(feature.properties), STATUS_COLOURS);
      });
      updateCounts(answer);
      statusLine.textContent = answer.total ? t('loaded', {n: answer.total}) : t('none_found');
      mapElement.setAttribute('data-outfall-count', String(answer.total));
      mapElement.setAttribute('data-state', 'ready');
      var marker = pendingPopup && markersByCode[pendingPopup];
      if (marker) {
        pendingPopup = null;
        var icon = marker.getElement();
        if (icon) icon.focus();  // so that the popup takes the focus, and Escape gives it back here
        marker.openPopup();
      }
    }).catch(function (error) {
      if (error && error.name === 'AbortError') return;  // the map moved on: a newer request runs
      statusLine.textContent = t('load_error') + (error && error.message ? ' ' + error.message : '');
      mapElement.setAttribute('data-state', 'error');
    });
  }

  // ── Counts beside the legend, for what the map now shows ──────────────────────────────────────
  function updateCounts(answer) {
    var counts = answer.by_status || {};
    var query = currentParams();
    var rows = document.querySelectorAll('#map-summary-table tbody tr[data-status]');
    Array.prototype.forEach.call(rows, function (row) {
      var key = row.getAttribute('data-status');
      var count = row.querySelector('.count');
      if (!count) return;
      count.textContent = String((key === 'overdue' ? answer.overdue : counts[key]) || 0);
      if (count.tagName === 'A') {
        var params = new URLSearchParams(query.toString());
        if (key === 'overdue') params.set('overdue', '1'); else params.set('status', key);
        count.href = listLink.getAttribute('data-base') + '?' + params.toString();
      }
    });
  }

  // ── Filters: the same GET parameters, applied without reloading the page ──────────────────────
  function currentParams() {
    var params = new URLSearchParams();
    if (!form) return params;
    new FormData(form).forEach(function (value, name) {
      if (value !== '' && name !== 'bbox' && name !== 'lang') params.append(name, value);
    });
    return params;
  }

  function applyFilters() {
    var query = currentParams().toString();
    window.history.replaceState(null, '', window.location.pathname + (query ? '?' + query : '') +
                                window.location.hash);
    if (listLink) listLink.href = listLink.getAttribute('data-base') + (query ? '?' + query : '');
    // Counted for the previous filter by the server; the table above now counts what the map shows.
    if (unlocatedNote) unlocatedNote.hidden = true;
    loadOutfalls();
  }

  if (form) {
    form.addEventListener('change', applyFilters);
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      applyFilters();
    });
  }

  var moveTimer = null;
  map.on('movestart', function () {
    // What is on its way was asked for the old view: drop it, and say the map is not ready yet.
    if (controllers.outfalls) controllers.outfalls.abort();
    mapElement.setAttribute('data-state', 'loading');
  });
  map.on('moveend', function () {
    window.clearTimeout(moveTimer);
    moveTimer = window.setTimeout(function () {
      loadOutfalls();
      if (reportsShown) loadReports();
    }, 150);  // a pan or a pinch ends in several moveends: ask once
  });

  // ── Outfalls near me: the browser's position, straight-line distances, nearest first ──────────
  var here = null;
  var hereLayer = null;
  var nearSection = document.getElementById('map-near');
  var nearButton = document.getElementById('near-me-button');
  var nearStatus = document.getElementById('near-me-status');
  var nearList = document.getElementById('near-me-list');
  var NEAREST = 10;
  var NEAR_BOXES = [0.02, 0.1, 0.5, 2];  // half-heights in degrees, tried in turn until 10 are found
  var HERE_COLOUR = '#5b2a86';  // purple: no status colour

  /** Great-circle distance in metres between two WGS84 points (haversine). */
  function distance(lat1, lon1, lat2, lon2) {
    var rad = Math.PI / 180;
    var dLat = (lat2 - lat1) * rad;
    var dLon = (lon2 - lon1) * rad;
    var a = Math.pow(Math.sin(dLat / 2), 2) +
            Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.pow(Math.sin(dLon / 2), 2);
    return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(a)));
  }

  function formatDistance(metres) {
    if (metres < 1000) return t('distance_m', {d: Math.max(10, Math.round(metres / 10) * 10)});
    var km = metres / 1000;
    return t('distance_km', {d: km < 100 ? km.toFixed(1) : String(Math.round(km))});
  }

  function showOnMap(feature) {
    var c = feature.geometry.coordinates;
    pendingPopup = feature.properties.code;  // opened when the outfalls of the new view are drawn
    map.setView([c[1], c[0]], Math.max(map.getZoom(), 16), {animate: false});
  }

  /** Single outfalls around ``here``, from boxes growing until ten are found (or outfalls are dense). */
  function outfallsAround(step, found) {
    var half = NEAR_BOXES[step];
    var wide = half / Math.max(0.1, Math.cos(here[0] * Math.PI / 180));
    var params = currentParams();
    params.set('layer', 'outfalls');
    params.set('zoom', '19');
    params.set('bbox', [Math.max(-180, here[1] - wide), Math.max(-90, here[0] - half),
                        Math.min(180, here[1] + wide), Math.min(90, here[0] + half)]
      .map(function (v) { return v.toFixed(5); }).join(','));
    return fetchJson(data.mapUrl + '?' + params.toString()).then(function (answer) {
      var features = answer.features || [];
      var outfalls = features.filter(function (f) { return f.properties.kind === 'outfall'; });
      var dense = outfalls.length < features.length;  // too many for single outfalls: the last box will do
      if (dense && found) return found;
      if (outfalls.length >= NEAREST || dense || step === NEAR_BOXES.length - 1) return outfalls;
      return outfallsAround(step + 1, outfalls);
    });
  }

  function listNearest(candidates) {
    nearList.textContent = '';
    if (!candidates.length) {
      nearStatus.textContent = t('near_none');
      return;
    }
    var ranked = candidates.map(function (feature) {
      var c = feature.geometry.coordinates;
      return {feature: feature, metres: distance(here[0], here[1], c[1], c[0])};
    }).sort(function (a, b) { return a.metres - b.metres; }).slice(0, NEAREST);
    nearStatus.textContent = t('near_result', {n: ranked.length});
    ranked.forEach(function (item) {
      var props = item.feature.properties;
      var li = element('li');
      var link = element('a', null, props.name);
      link.href = props.url;
      li.appendChild(link);
      li.appendChild(document.createTextNode(t('near_code', {code: props.code}) + ' '));
      li.appendChild(element('span', 'distance', formatDistance(item.metres)));
      var state = statusLabel(props) + (props.overdue ? ' · ' + t('overdue') : '');
      li.appendChild(document.createTextNode(' · ' + state + ' '));
      var button = element('button', 'link-button', t('show_on_map'));
      button.type = 'button';
      button.addEventListener('click', function () { showOnMap(item.feature); });
      li.appendChild(button);
      nearList.appendChild(li);
    });
  }

  if (nearSection && navigator.geolocation) {
    nearSection.hidden = false;
    nearButton.addEventListener('click', function () {
      nearStatus.textContent = t('near_locating');
      navigator.geolocation.getCurrentPosition(function (position) {
        here = [position.coords.latitude, position.coords.longitude];
        if (hereLayer) map.removeLayer(hereLayer);
        hereLayer = L.layerGroup([
          L.circle(here, {radius: position.coords.accuracy || 0, color: HERE_COLOUR, weight: 1,
                          interactive: false}),
          L.circleMarker(here, {radius: 7, color: HERE_COLOUR, weight: 3, fillOpacity: 0.9})
            .bindTooltip(window.PortalMaps.labelElement(t('you_are_here')))
        ]).addTo(map);
        outfallsAround(0, null).then(listNearest).catch(function () { nearStatus.textContent = t('near_failed'); });
        map.setView(here, Math.max(map.getZoom(), 12), {animate: false});
      }, function (error) {
        nearStatus.textContent = error && error.code === 1 ? t('near_denied') : t('near_failed');
      }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
    });
  }

  // ── Keyboard: a popup opened from a focused marker takes the focus, Escape closes it, and the
  //    focus goes back to the marker ────────────────────────────────────────────────────────────
  var popupOpener = null;
  var popupIsOpen = false;
  map.on('popupopen', function (event) {
    popupIsOpen = true;
    var source = event.popup._source;  // the marker the popup belongs to
    var icon = source && source.getElement && source.getElement();
    popupOpener = null;
    if (icon && document.activeElement === icon) {
      popupOpener = icon;
      var link = event.popup.getElement().querySelector('a.map-popup-link');
      if (link) link.focus();
    }
  });
  map.on('popupclose', function (event) {
    popupIsOpen = false;
    var popupElement = event.popup.getElement();
    var focus = document.activeElement;
    if (popupOpener && document.body.contains(popupOpener) &&
        (!focus || focus === document.body || (popupElement && popupElement.contains(focus)))) {
      popupOpener.focus();
    }
    popupOpener = null;
  });
  mapElement.addEventListener('keydown', function (event) {
    // Leaflet closes a popup on Escape only while the map container itself has the focus.
    if ((event.key === 'Escape' || event.key === 'Esc') && popupIsOpen) map.closePopup();
  });


  // ── Published citizen reports: an optional layer of square markers and purple clusters, asked for
  //    the visible box like the outfalls while it is switched on ─────────────────────────────────────
  var reportsToggle = document.getElementById('map-reports-toggle');
  var reportsStatus = document.getElementById('map-reports-status');
  var reportsLayer = {points: L.layerGroup(), clusters: L.layerGroup(), singles: {}};
  var reportsShown = false;
  var reportIcon = null;
  var REPORT_COLOURS = {all: '#6a1b9a'};

  function reportPopup(props) {
    var box = element('div', 'map-popup');
    box.appendChild(element('h3', null, strings.report_categories[props.category] || props.category));
    var facts = element('dl');
    [[t('report_code'), props.code], [t('report_status'), strings.report_statuses[props.status] || props.status],
     [t('report_town'), props.town || t('report_district')], [t('report_submitted'), formatDate(props.submitted_on)],
     [t('report_me_too'), t('report_people', {n: props.me_too_count || 0})]].forEach(function (pair) {
      facts.appendChild(element('dt', null, pair[0]));
      facts.appendChild(element('dd', null, pair[1] || t('no_record')));
    });
    box.appendChild(facts);
    var link = element('a', 'map-popup-link map-report-link', t('report_link'));
    link.href = props.url;
    box.appendChild(link);
    return box;
  }

  function reportMarker(feature) {
    var props = feature.properties;
    var c = feature.geometry.coordinates;
    if (!reportIcon) {
      var holder = element('div');
      var body = element('span', 'mk-body', t('report_mark'));
      body.setAttribute('aria-hidden', 'true');
      holder.appendChild(body);
      reportIcon = L.divIcon({className: 'mk mk-report', html: holder.innerHTML, iconSize: [24, 24],
                              iconAnchor: [12, 12], popupAnchor: [0, -12]});
    }
    var title = t('report_title', {code: props.code, category: strings.report_categories[props.category] || props.category,
                                   status: strings.report_statuses[props.status] || props.status});
    var marker = L.marker([c[1], c[0]], {
      icon: reportIcon, title: title, alt: title, keyboard: true, riseOnHover: true, zIndexOffset: 500
    });
    marker.bindPopup(function () { return reportPopup(props); }, {maxWidth: 300, minWidth: 200});
    return marker;
  }

  function loadReports() {
    reportsStatus.textContent = t('reports_loading');
    var params = new URLSearchParams();
    fetchView('reports', params).then(function (answer) {
      redraw(reportsLayer, answer.features || [], reportMarker, function (feature) {
        var props = feature.properties;
        props.by_status = {all: props.count};  // one colour: the ring tells reports from outfalls
        return clusterMarker(feature, t('reports_cluster', {n: props.count}), REPORT_COLOURS);
      });
      mapElement.setAttribute('data-report-count', String(answer.total));
      reportsStatus.textContent = answer.total ? t('reports_loaded', {n: answer.total}) : t('reports_none');
    }).catch(function (error) {
      if (error && error.name === 'AbortError') return;
      reportsStatus.textContent = t('reports_error');
    });
  }

  if (reportsToggle && reportsStatus && data.mapUrl) {
    var reportsBox = element('input');
    reportsBox.type = 'checkbox';
    reportsBox.id = 'map-reports-checkbox';
    var reportsLabel = element('label', null, t('reports_layer'));
    reportsLabel.htmlFor = reportsBox.id;
    reportsToggle.appendChild(reportsBox);
    reportsToggle.appendChild(reportsLabel);
    reportsToggle.hidden = false;
    reportsBox.addEventListener('change', function () {
      reportsShown = reportsBox.checked;
      if (reportsShown) {
        reportsLayer.points.addTo(map);
        reportsLayer.clusters.addTo(map);
        loadReports();
      } else {
        if (controllers.reports) controllers.reports.abort();
        map.removeLayer(reportsLayer.points);
        map.removeLayer(reportsLayer.clusters);
        reportsStatus.textContent = '';
      }
    });
  }

  // ── Monitoring sections (断面): their own layer of diamond markers, always shown ─────────────────
  // A section is a point on a river judged by GB 3838; its marker says how it fared lately, and a
  // section never sampled says so (grey, "尚无监测数据"), never compliant.
  var sectionsLayer = null;
  var SECTION_STATE = /^(no_data|unjudged|all_met|some_failed)$/;

  function sectionPopup(props) {
    var box = element('div', 'map-popup');
    var heading = element('h3', null, props.name);
    if (props.is_demo) {
      heading.appendChild(document.createTextNode(' '));
      heading.appendChild(element('span', 'badge badge-demo', t('demo')));
    }
    box.appendChild(heading);
    var facts = element('dl');
    [[t('section_code'), props.code], [t('section_level'), props.level_label],
     [t('water_body'), props.water_body],
     [t('section_class'), props.target_class ? t('section_class_value', {cls: props.target_class}) : ''],
     [t('section_compliance'), props.compliance_text]].forEach(function (pair) {
      facts.appendChild(element('dt', null, pair[0]));
      facts.appendChild(element('dd', null, pair[1] || t('no_record')));
    });
    box.appendChild(facts);
    var link = element('a', 'map-popup-link map-section-link', t('section_link'));
    link.href = props.url;
    box.appendChild(link);
    return box;
  }

  var sectionIcons = {};
  function sectionIcon(state) {
    if (!sectionIcons[state]) {
      var holder = element('div');
      var body = element('span', 'mk-body', t('section_mark'));
      body.setAttribute('aria-hidden', 'true');
      holder.appendChild(body);
      sectionIcons[state] = L.divIcon({className: 'mk mk-section mk-section-' + state, html: holder.innerHTML,
                                       iconSize: [22, 22], iconAnchor: [11, 11], popupAnchor: [0, -11]});
    }
    return sectionIcons[state];
  }

  function loadSections() {
    if (!data.sectionsUrl) return;
    fetchJson(data.sectionsUrl).then(function (collection) {
      var shown = collection.features || [];
      sectionsLayer = L.layerGroup(shown.map(function (feature) {
        var props = feature.properties;
        var coordinates = feature.geometry.coordinates;
        var state = SECTION_STATE.test(props.compliance) ? props.compliance : 'no_data';
        var title = t('section_title', {code: props.code, name: props.name, compliance: props.compliance_text});
        var marker = L.marker([coordinates[1], coordinates[0]], {
          icon: sectionIcon(state), title: title, alt: title, keyboard: true, riseOnHover: true, zIndexOffset: 400
        });
        marker.bindPopup(function () { return sectionPopup(props); }, {maxWidth: 300, minWidth: 200});
        return marker;
      })).addTo(map);
      mapElement.setAttribute('data-section-count', String(shown.length));
    }).catch(function () {
      mapElement.setAttribute('data-section-count', 'error');  // sections are a help, not a requirement
    });
  }

  // For the browser tests and for anyone debugging in a console.
  window.portalMap = {map: map, markers: function () { return markersByCode; },
                      singles: function () { return singles; }, reports: function () { return reportsLayer.points; },
                      sections: function () { return sectionsLayer; }};

  // The form holds the filter as the server read it (values it could not read are dropped), so the
  // map shows what the page's counts count. The first view is the shared link's box or the towns'
  // extent: the outfalls come first, and the towns, rivers and sections, which help to read the map,
  // after them, so that on a slow line they do not share it with the markers. Without an extent
  // (no town has a boundary yet) the towns' GeoJSON is asked for first, and the map fits what it has.
  function loadGeography() {
    loadWaters();
    loadSections();
    return loadTowns();
  }
  if (fitted) {
    loadOutfalls().then(loadGeography);
  } else {
    loadGeography().then(function (towns) {
      fitOnce(towns ? towns.getBounds() : null);
      loadOutfalls();
    });
  }
})();
