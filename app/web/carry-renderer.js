// Carry draws with Flutter's skwasm renderer on one thread. Flet's client would otherwise draw in a worker
// thread (the page is cross-origin isolated), and in headless Chromium that worker and the page sometimes
// wait on each other for good after the theme or text size changes: the tab stops drawing and answering
// (about one settings change in six; never in 30 runs on one thread). The loader that Flutter's bootstrap
// installs is caught as it is set, and every configuration it is given asks for the single-threaded
// renderer. Loaded before the Flutter bootstrap, from Carry's own origin.
(function () {
  "use strict";
  var flutter = window._flutter = window._flutter || {};
  var loader;
  Object.defineProperty(flutter, "loader", {
    configurable: true,
    enumerable: true,
    get: function () { return loader; },
    set: function (value) {
      if (value && typeof value.load === "function") {
        var load = value.load.bind(value);
        value.load = function (options) {
          options = options || {};
          options.config = options.config || {};
          options.config.forceSingleThreadedSkwasm = true;
          return load(options);
        };
      }
      loader = value;
    }
  });
})();
