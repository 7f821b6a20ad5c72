// Security keys (WebAuthn) for the staff console: add a key, sign in with a key.
// Written for this console; loaded as a file (the CSP allows no inline script).
// Without this script, or in a browser without PublicKeyCredential, the key parts
// stay hidden and the TOTP form works as before.
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) {
      text += String.fromCharCode(bytes[i]);
    }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(value) {
    var text = value.replace(/-/g, "+").replace(/_/g, "/");
    while (text.length % 4) {
      text += "=";
    }
    var raw = atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: fromBase64url(item.id), transports: item.transports };
    });
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) {
          var error = new Error("refused");
          error.hubMessage = data && data.error ? data.error.message : null;
          throw error;
        }
        return data;
      });
    });
  }

  function show(box, error) {
    box.textContent = (error && error.hubMessage) || box.getAttribute("data-failed");
    box.hidden = false;
  }

  function credentialJson(credential, fields) {
    var response = {};
    fields.forEach(function (name) {
      var value = credential.response[name];
      if (value) {
        response[name] = toBase64url(value);
      }
    });
    if (typeof credential.response.getTransports === "function") {
      response.transports = credential.response.getTransports();
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    };
  }

  // Adding a key on the Security keys page.
  var addForm = document.getElementById("key-add");
  if (addForm) {
    var addError = document.getElementById("key-add-error");
    var unsupported = document.getElementById("key-unsupported");
    addForm.hidden = false;
    if (unsupported) {
      unsupported.hidden = true;
    }
    addForm.addEventListener("submit", function (event) {
      event.preventDefault();
      addError.hidden = true;
      var csrf = addForm.elements.csrf.value;
      var name = addForm.elements.name.value;
      postJson("/console/security-keys/options", { csrf: csrf })
        .then(function (options) {
          options.challenge = fromBase64url(options.challenge);
          options.user.id = fromBase64url(options.user.id);
          options.excludeCredentials = descriptors(options.excludeCredentials);
          return navigator.credentials.create({ publicKey: options });
        })
        .then(function (credential) {
          var body = credentialJson(credential, ["clientDataJSON", "attestationObject"]);
          return postJson("/console/security-keys/add", {
            csrf: csrf,
            name: name,
            credential: body,
          });
        })
        .then(function (done) {
          window.location.assign(done.redirect);
        })
        .catch(function (error) {
          show(addError, error);
        });
    });
  }

  // Signing in with a key, next to the TOTP form.
  var keyBox = document.getElementById("key-sign-in");
  var signInForm = document.getElementById("sign-in-form");
  if (keyBox && signInForm) {
    var keyError = document.getElementById("key-error");
    keyBox.hidden = false;
    document.getElementById("key-button").addEventListener("click", function () {
      keyError.hidden = true;
      var email = signInForm.elements.email;
      var password = signInForm.elements.password;
      if (!email.reportValidity() || !password.reportValidity()) {
        return;
      }
      var csrf = signInForm.elements.csrf.value;
      postJson("/console/sign-in/key/options", {
        csrf: csrf,
        email: email.value,
        password: password.value,
      })
        .then(function (options) {
          options.challenge = fromBase64url(options.challenge);
          options.allowCredentials = descriptors(options.allowCredentials);
          return navigator.credentials.get({ publicKey: options });
        })
        .then(function (credential) {
          var body = credentialJson(credential, [
            "clientDataJSON",
            "authenticatorData",
            "signature",
            "userHandle",
          ]);
          return postJson("/console/sign-in/key", { csrf: csrf, credential: body });
        })
        .then(function (done) {
          window.location.assign(done.redirect);
        })
        .catch(function (error) {
          show(keyError, error);
        });
    });
  }
})();
