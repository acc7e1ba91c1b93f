/* The header's menu on a phone: a button that folds the navigation away and opens it again.
 *
 * Without this script the header shows a "menu" link to #site-nav, and CSS shows the navigation when it
 * is the link's target; with it, the link gives way to a real <button aria-expanded>. On wide screens
 * CSS hides both and always shows the navigation.
 *
 * On a phone, boxes marked <details data-fold-on-phone> (the filters of the map and of the list) start
 * folded too, leaving the first screen to the content; they are open in the HTML, so without script, or
 * on a wide screen, they stay open.
 */
(function () {
  'use strict';
  if (window.matchMedia && window.matchMedia('(max-width: 47.99em)').matches) {
    var boxes = document.querySelectorAll('details[data-fold-on-phone]');
    for (var i = 0; i < boxes.length; i += 1) boxes[i].open = false;
  }
  var header = document.getElementById('site-header');
  var button = document.getElementById('menu-button');
  var nav = document.getElementById('site-nav');
  if (!header || !button || !nav) return;
  var link = header.querySelector('.menu-link');

  /** Open or fold the navigation, and say which in the button's state. */
  function setOpen(open) {
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
    header.classList.toggle('menu-open', open);
  }

  header.classList.add('menu-ready');
  if (link) link.hidden = true;
  button.hidden = false;
  setOpen(window.location.hash === '#site-nav');
  button.addEventListener('click', function () {
    setOpen(button.getAttribute('aria-expanded') !== 'true');
  });
  // Escape folds the menu and gives the focus back to its button.
  nav.addEventListener('keydown', function (event) {
    if ((event.key === 'Escape' || event.key === 'Esc') && header.classList.contains('menu-open')) {
      setOpen(false);
      button.focus();
    }
  });
}());
