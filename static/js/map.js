/* The public map: outfalls from /api/v1/outfalls.geojson, clustered and coloured by rectification
 * status, over town boundaries and rivers from the portal's own data (so no basemap is needed).
 *
 * Plain ES2017 without modules, for phones and WeChat's browser. Everything configurable comes from
 * data- attributes of #map; every text comes from the page's #map-strings, translated by the server.
 * The filter form stays a plain GET form: here it re-fetches the GeoJSON with the same parameters
 * and keeps the address bar in step (history.replaceState), so the page can be shared as it is.
 *
 * Hooks for tests: #map[data-state] is "loading", "ready" or "error"; #map[data-outfall-count] is
 * the number of outfalls drawn; popups link to the outfall page with a.map-popup-link. The optional
 * layer of published citizen reports (#map-reports-checkbox) sets #map[data-report-count] once loaded;
 * its popups link to the report's tracking page with a.map-report-link.
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

  function fetchJson(url) {
    return fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/geo+json, application/json'}})
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
      map.fitBounds([[box[1], box[0]], [box[3], box[2]]]);
      fitted = true;
    }
  }

  function fitOnce(bounds) {
    if (!fitted && bounds && bounds.isValid()) {
      map.fitBounds(bounds, {padding: [16, 16], maxZoom: 13});
      fitted = true;
    }
  }

  // ── Towns and rivers: the map's own geography ─────────────────────────────────────────────────
  var townsRequest = fetchJson(data.townsUrl).then(function (collection) {
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

  fetchJson(data.watersUrl).then(function (collection) {
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

  // ── Outfalls ──────────────────────────────────────────────────────────────────────────────────
  var icons = {};
  var markersByCode = {};
  var features = [];
  var requestNumber = 0;

  function statusKey(status) {
    return status && STATUS_CLASS.test(status) ? status : 'none';
  }

  function statusLabel(props) {
    return props.status ? (props.status_label || props.status) : strings.status_labels.none;
  }

  /** One shared icon per type, status and overdue flag: 100,000 markers need only a few. */
  function outfallIcon(props) {
    var status = statusKey(props.status);
    var key = props.outfall_type + '|' + status + '|' + (props.overdue ? 1 : 0);
    if (!icons[key]) {
      var mark = strings.type_marks[props.outfall_type] || (props.type_label || '?').charAt(0);
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
        html: holder.innerHTML,
        iconSize: [28, 28],
        iconAnchor: [14, 14],
        popupAnchor: [0, -14]
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
    fact(t('type'), props.type_label);
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

  function clusterIcon(cluster) {
    var children = cluster.getAllChildMarkers();
    var overdue = 0;
    for (var i = 0; i < children.length; i++) {
      if (children[i].options.overdue) overdue++;
    }
    var count = children.length;
    var size = count < 10 ? 32 : count < 100 ? 38 : count < 1000 ? 44 : 50;
    var holder = element('div');
    var number = element('span', 'mk-count', String(count));
    number.setAttribute('aria-hidden', 'true');
    holder.appendChild(number);
    if (overdue) {
      var flag = element('span', 'mk-flag', '!');
      flag.setAttribute('aria-hidden', 'true');
      holder.appendChild(flag);
    }
    // Clusters are focusable buttons too (Enter zooms in): give them a name a screen reader reads.
    var name = overdue ? t('cluster_overdue', {n: count, overdue: overdue}) : t('cluster', {n: count});
    holder.appendChild(element('span', 'visually-hidden', name));
    return L.divIcon({html: holder.innerHTML, className: 'mk-cluster', iconSize: [size, size]});
  }

  var idle = Promise.resolve();  // settles when the cluster group has added the last markers given
  var finishAdding = null;
  var clusters = L.markerClusterGroup({
    chunkedLoading: true,
    showCoverageOnHover: false,
    maxClusterRadius: 50,
    spiderfyOnMaxZoom: true,
    iconCreateFunction: clusterIcon,
    chunkProgress: function (done, total) {
      if (done === total && finishAdding) {
        var finished = finishAdding;
        finishAdding = null;
        finished();
      }
    }
  }).addTo(map);

  function makeMarker(feature) {
    var props = feature.properties;
    var coordinates = feature.geometry.coordinates;
    var title = markerTitle(props);
    var marker = L.marker([coordinates[1], coordinates[0]], {
      icon: outfallIcon(props), title: title, alt: title, keyboard: true, riseOnHover: true,
      overdue: Boolean(props.overdue)
    });
    marker.feature = feature;
    marker.bindPopup(function () { return popupContent(props); }, {maxWidth: 300, minWidth: 200});
    markersByCode[props.code] = marker;
    return marker;
  }

  function loadOutfalls(query) {
    var number = ++requestNumber;
    mapElement.setAttribute('data-state', 'loading');
    statusLine.textContent = t('loading');
    var url = data.outfallsUrl + (query ? '?' + query : '');
    return fetchJson(url).then(function (collection) {
      // A chunked addLayers goes on after clearLayers: let it finish before the markers change.
      return idle.then(function () { return collection; });
    }).then(function (collection) {
      if (number !== requestNumber) return;  // a newer request has been made meanwhile
      features = collection.features || [];
      clusters.clearLayers();
      markersByCode = {};
      var markers = features.map(makeMarker);
      updateCounts(features);
      statusLine.textContent = features.length ? t('loaded', {n: features.length}) : t('none_found');
      idle = new Promise(function (resolve) { finishAdding = resolve; });
      clusters.addLayers(markers);  // resolves ``idle`` once the last chunk is on the map
      idle.then(function () {
        window.setTimeout(function () {
          if (number !== requestNumber) return;
          mapElement.setAttribute('data-outfall-count', String(markers.length));
          mapElement.setAttribute('data-state', 'ready');
        }, 0);
      });
      townsRequest.then(function (towns) {
        fitOnce(towns ? towns.getBounds() : null);
        if (markers.length) fitOnce(L.latLngBounds(markers.map(function (m) { return m.getLatLng(); })));
      });
      if (here) listNearest();
    }).catch(function (error) {
      if (number !== requestNumber) return;
      statusLine.textContent = t('load_error') + (error && error.message ? ' ' + error.message : '');
      mapElement.setAttribute('data-state', 'error');
    });
  }

  // ── Counts beside the legend, for what the map now shows ──────────────────────────────────────
  function updateCounts(shown) {
    var counts = {none: 0, overdue: 0};
    Object.keys(strings.status_labels).forEach(function (code) { counts[code] = 0; });
    shown.forEach(function (feature) {
      var props = feature.properties;
      var key = props.status && counts[props.status] !== undefined ? props.status : 'none';
      counts[key]++;
      if (props.overdue) counts.overdue++;
    });
    var query = currentParams();
    var rows = document.querySelectorAll('#map-summary-table tbody tr[data-status]');
    Array.prototype.forEach.call(rows, function (row) {
      var key = row.getAttribute('data-status');
      var count = row.querySelector('.count');
      if (!count) return;
      count.textContent = String(counts[key] || 0);
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
      if (value !== '') params.append(name, value);
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
    loadOutfalls(query);
  }

  if (form) {
    form.addEventListener('change', applyFilters);
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      applyFilters();
    });
  }

  // ── Outfalls near me: the browser's position, straight-line distances, nearest first ──────────
  var here = null;
  var hereLayer = null;
  var nearSection = document.getElementById('map-near');
  var nearButton = document.getElementById('near-me-button');
  var nearStatus = document.getElementById('near-me-status');
  var nearList = document.getElementById('near-me-list');
  var NEAREST = 10;
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

  function showOnMap(code) {
    var marker = markersByCode[code];
    if (!marker) return;
    clusters.zoomToShowLayer(marker, function () {
      var icon = marker.getElement();
      if (icon) icon.focus();  // so that the popup takes the focus, and Escape gives it back here
      marker.openPopup();
    });
  }

  function listNearest() {
    nearList.textContent = '';
    if (!features.length) {
      nearStatus.textContent = t('near_none');
      return;
    }
    var ranked = features.map(function (feature) {
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
      button.addEventListener('click', function () { showOnMap(props.code); });
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
        listNearest();
        // Without animation: markers re-clustered at the end of a zoom animation would close a popup
        // that "show on map" opened meanwhile.
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

  // ── Published citizen reports: an optional layer of square markers, fetched when first shown ─────
  var reportsToggle = document.getElementById('map-reports-toggle');
  var reportsStatus = document.getElementById('map-reports-status');
  var reportsLayer = null;
  var reportsRequest = null;
  var reportIcon = null;

  function reportPopup(props) {
    var box = element('div', 'map-popup');
    box.appendChild(element('h3', null, props.category_label));
    var facts = element('dl');
    [[t('report_code'), props.code], [t('report_status'), props.status_label],
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
    var coordinates = feature.geometry.coordinates;
    if (!reportIcon) {
      var holder = element('div');
      var body = element('span', 'mk-body', t('report_mark'));
      body.setAttribute('aria-hidden', 'true');
      holder.appendChild(body);
      reportIcon = L.divIcon({className: 'mk mk-report', html: holder.innerHTML, iconSize: [24, 24],
                              iconAnchor: [12, 12], popupAnchor: [0, -12]});
    }
    var title = t('report_title', {code: props.code, category: props.category_label, status: props.status_label});
    var marker = L.marker([coordinates[1], coordinates[0]], {
      icon: reportIcon, title: title, alt: title, keyboard: true, riseOnHover: true, zIndexOffset: 500
    });
    marker.bindPopup(function () { return reportPopup(props); }, {maxWidth: 300, minWidth: 200});
    return marker;
  }

  function loadReports() {
    if (!reportsRequest) {
      reportsStatus.textContent = t('reports_loading');
      reportsRequest = fetchJson(data.reportsUrl).then(function (collection) {
        var shown = collection.features || [];
        reportsLayer = L.layerGroup(shown.map(reportMarker));
        mapElement.setAttribute('data-report-count', String(shown.length));
        reportsStatus.textContent = shown.length ? t('reports_loaded', {n: shown.length}) : t('reports_none');
        return reportsLayer;
      }).catch(function (error) {
        reportsRequest = null;  // switching the layer on again tries again
        reportsStatus.textContent = t('reports_error');
        throw error;
      });
    }
    return reportsRequest;
  }

  if (reportsToggle && reportsStatus && data.reportsUrl) {
    var reportsBox = element('input');
    reportsBox.type = 'checkbox';
    reportsBox.id = 'map-reports-checkbox';
    var reportsLabel = element('label', null, t('reports_layer'));
    reportsLabel.htmlFor = reportsBox.id;
    reportsToggle.appendChild(reportsBox);
    reportsToggle.appendChild(reportsLabel);
    reportsToggle.hidden = false;
    reportsBox.addEventListener('change', function () {
      if (reportsBox.checked) {
        loadReports().then(function (layer) {
          if (reportsBox.checked) layer.addTo(map);
        }).catch(function () { reportsBox.checked = false; });
      } else if (reportsLayer) {
        map.removeLayer(reportsLayer);
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

  if (data.sectionsUrl) {
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
  window.portalMap = {map: map, clusters: clusters, markers: function () { return markersByCode; },
                      reports: function () { return reportsLayer; },
                      sections: function () { return sectionsLayer; }};

  // The form holds the filter as the server read it (values it could not read are dropped), so the
  // map shows what the page's counts count.
  loadOutfalls(currentParams().toString());
})();
