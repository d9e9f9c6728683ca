// Marks the page once htmx has loaded (this file is deferred after it), so controls that
// only matter without JavaScript can step aside: the currency applies as soon as it is
// chosen, and its "Set" button would only be noise. No htmx, no class: the button stays.
if (window.htmx) {
  document.documentElement.classList.add("htmx-enhanced");
}
