/* Presentation mode: Escape leaves it, as the "Exit presentation" button does. */
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape" || !document.querySelector(".presenting")) { return; }
  var exit = document.getElementById("nav-present-off");
  if (exit) { exit.click(); }
});
