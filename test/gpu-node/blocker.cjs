// Preloaded (node --require) by the missing-package test: resolving "webgpu" fails as if it were not installed.
const Module = require("node:module");
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === "webgpu") {
    const err = new Error("Cannot find module 'webgpu'");
    err.code = "MODULE_NOT_FOUND";
    throw err;
  }
  return resolve.call(this, request, ...rest);
};
