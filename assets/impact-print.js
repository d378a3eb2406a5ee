/* Printing /impact: plotly draws charts at the screen's width in pixels, which a printed page
   cuts off. Redraw them at the printed width (about 180 mm) before printing, and back after. */
(function () {
  var PRINT_WIDTH = 680; // px at 96 dpi: a Letter/A4 page less its 14 mm margins
  function charts() {
    return document.querySelectorAll(".impact-page .js-plotly-plot");
  }
  window.addEventListener("beforeprint", function () {
    if (!window.Plotly) { return; }
    charts().forEach(function (el) {
      window.Plotly.relayout(el, { width: PRINT_WIDTH, autosize: false });
    });
  });
  window.addEventListener("afterprint", function () {
    if (!window.Plotly) { return; }
    charts().forEach(function (el) {
      window.Plotly.relayout(el, { width: null, autosize: true });
    });
    window.dispatchEvent(new Event("resize"));
  });
})();
