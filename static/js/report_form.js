/* The report form, enhanced: a map to drop a pin, the phone's location, photo thumbnails, a live
   preview of what would be public, and open reports nearby. Without this script the form works
   as a plain multipart form. */
(function () {
  'use strict';
  var form = document.getElementById('report-form');
  if (!form) { return; }
  var strings = JSON.parse(document.getElementById('report-form-strings').textContent);
  var lat = document.getElementById('lat');
  var lon = document.getElementById('lon');
  var mapBox = document.getElementById('report-map');
  var locateButton = document.getElementById('locate-me');
  var locateStatus = document.getElementById('locate-status');
  var marker = null;
  var map = null;

  function setPosition(latitude, longitude, pan) {
    lat.value = latitude.toFixed(6);
    lon.value = longitude.toFixed(6);
    if (map) {
      var point = [latitude, longitude];
      if (marker) { marker.setLatLng(point); } else { marker = L.marker(point, {title: lat.value + ', ' + lon.value}).addTo(map); }
      if (pan) { map.setView(point, Math.max(map.getZoom(), 14)); }
    }
    loadNearby();
  }

  /** Towns or waters from the portal's own GeoJSON, each named by a text label (never HTML). */
  function drawGeoJSON(url, style, labelClass) {
    fetch(url).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (data && map) {
        var layer = L.geoJSON(data, {
          style: style, interactive: false,
          onEachFeature: function (feature, featureLayer) {
            window.PortalMaps.nameLabels(featureLayer, (feature.properties || {}).name, labelClass);
          }
        }).addTo(map);
        if (!marker && layer.getBounds().isValid()) { map.fitBounds(layer.getBounds()); }
      }
    }).catch(function () {});
  }

  if (window.L && window.PortalMaps && mapBox) {
    mapBox.hidden = false;
    map = L.map(mapBox, {zoomControl: true}).setView([52.03, 123.59], 9);
    // The same basemap as the public map (BASEMAP), so a resident recognises the place.
    window.PortalMaps.addBasemap(map, window.PortalMaps.layersOf(mapBox));
    drawGeoJSON(mapBox.dataset.townsUrl, {color: '#0b3d5c', weight: 1, dashArray: '4', fillOpacity: 0.05},
                'town-label');
    drawGeoJSON(mapBox.dataset.watersUrl, {color: '#1f6fb2', weight: 2}, 'water-label');
    map.on('click', function (event) { setPosition(event.latlng.lat, event.latlng.lng, false); });
    if (lat.value && lon.value && !isNaN(parseFloat(lat.value))) { setPosition(parseFloat(lat.value), parseFloat(lon.value), true); }
  }

  if (navigator.geolocation && locateButton) {
    locateButton.hidden = false;
    locateButton.addEventListener('click', function () {
      locateStatus.textContent = strings.locating;
      navigator.geolocation.getCurrentPosition(function (position) {
        setPosition(position.coords.latitude, position.coords.longitude, true);
        locateStatus.textContent = strings.located;
      }, function () { locateStatus.textContent = strings.no_location; }, {enableHighAccuracy: true, timeout: 15000});
    });
  }

  [lat, lon].forEach(function (input) {
    input.addEventListener('change', function () {
      var a = parseFloat(lat.value), b = parseFloat(lon.value);
      if (!isNaN(a) && !isNaN(b)) { setPosition(a, b, true); }
    });
  });

  // Photo thumbnails, drawn locally: nothing leaves the phone before the form is sent.
  var photos = document.getElementById('photos');
  var thumbnails = document.getElementById('photo-thumbnails');
  if (photos && thumbnails && window.URL) {
    photos.addEventListener('change', function () {
      thumbnails.textContent = '';
      var files = Array.prototype.slice.call(photos.files);
      var limit = parseInt(photos.dataset.limit || '6', 10);
      if (files.length > limit) {
        var warning = document.createElement('li');
        warning.textContent = strings.too_many.replace('{n}', limit);
        thumbnails.appendChild(warning);
      }
      files.forEach(function (file) {
        var item = document.createElement('li');
        var image = document.createElement('img');
        image.alt = file.name;
        image.src = URL.createObjectURL(file);
        image.onload = function () { URL.revokeObjectURL(image.src); };
        item.appendChild(image);
        thumbnails.appendChild(item);
      });
    });
  }

  // What would be public, as the resident types.
  var preview = document.getElementById('live-preview');
  var previewText = document.getElementById('live-preview-text');
  var publicBox = document.getElementById('public');
  function updatePreview() {
    preview.hidden = false;
    previewText.textContent = publicBox.checked ? strings.public_yes : strings.public_no;
  }
  if (preview && publicBox) { publicBox.addEventListener('change', updatePreview); updatePreview(); }

  // Open reports nearby, offered as "me too" before a duplicate is filed.
  var nearbyBox = null;
  function loadNearby() {
    if (!mapBox || !lat.value || !lon.value) { return; }
    var url = mapBox.dataset.nearbyUrl + '?lat=' + encodeURIComponent(lat.value) + '&lon=' + encodeURIComponent(lon.value);
    fetch(url).then(function (r) { return r.ok ? r.json() : {reports: []}; }).then(function (data) {
      if (!nearbyBox) {
        nearbyBox = document.createElement('section');
        nearbyBox.className = 'nearby';
        nearbyBox.setAttribute('aria-live', 'polite');
        form.parentNode.insertBefore(nearbyBox, form);
      }
      nearbyBox.textContent = '';
      if (!data.reports.length) { return; }
      var heading = document.createElement('h2');
      heading.textContent = strings.nearby;
      nearbyBox.appendChild(heading);
      var list = document.createElement('ul');
      var token = form.querySelector('input[name=csrf_token]').value;
      data.reports.forEach(function (report) {
        var item = document.createElement('li');
        var link = document.createElement('a');
        link.href = report.url;
        link.textContent = report.code;
        item.appendChild(link);
        item.appendChild(document.createTextNode(' ' + report.category + ' · ' + report.status + ' · ' +
          strings.metres.replace('{m}', report.metres) + ' '));
        var meToo = document.createElement('form');
        meToo.method = 'post';
        meToo.action = report.me_too_url;
        meToo.className = 'inline-form';
        var hidden = document.createElement('input');
        hidden.type = 'hidden'; hidden.name = 'csrf_token'; hidden.value = token;
        var button = document.createElement('button');
        button.type = 'submit';
        button.textContent = strings.me_too;
        meToo.appendChild(hidden); meToo.appendChild(button);
        item.appendChild(meToo);
        list.appendChild(item);
      });
      nearbyBox.appendChild(list);
    }).catch(function () {});
  }
})();
