// Runs before the page paints (a classic script in <head>, not a module): applies the stored or
// the system's colour theme, so a dark-theme user never sees a white flash. Not inline: the CSP
// allows scripts from 'self' only.
(function () {
  var stored = null;
  try {
    stored = window.localStorage.getItem("benben-console-theme");
  } catch (e) {
    stored = null; // storage disabled: follow the system
  }
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  var theme = stored === "dark" || stored === "light" ? stored : dark ? "dark" : "light";
  document.documentElement.setAttribute("data-bs-theme", theme);
})();
