// Kehu's own small enhancements; every page works without them.
// Buttons marked data-print print the page (the Content-Security-Policy
// allows no inline handlers, so they are bound here).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
