// Carry's page loads nothing from another host. Flet's web client adds a <script> for the Rive animation
// runtime from cdn.jsdelivr.net on every page load (the address is compiled into main.dart.js and
// main.dart.wasm); Carry shows no Rive animation, so such a script is never given its address: it stays
// an empty element, the client waits for it in vain as it did for the unreachable CDN, and no request
// leaves the device. Loaded before the Flutter bootstrap, from Carry's own origin.
(function () {
  "use strict";
  var own = window.location.origin;
  function elsewhere(value) {
    try {
      return new URL(String(value), document.baseURI).origin !== own;
    } catch (e) {
      return true;
    }
  }
  var proto = HTMLScriptElement.prototype;
  var src = Object.getOwnPropertyDescriptor(proto, "src");
  Object.defineProperty(proto, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: function () { return src.get.call(this); },
    set: function (value) {
      if (elsewhere(value)) {
        console.info("Carry: not loading a script from another host.");
        return;
      }
      src.set.call(this, value);
    }
  });
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLScriptElement && String(name).toLowerCase() === "src" && elsewhere(value)) {
      console.info("Carry: not loading a script from another host.");
      return;
    }
    return setAttribute.call(this, name, value);
  };
})();
