/**
 * @peculiar/x509 resolves its algorithms through tsyringe, which refuses to load
 * without the Reflect metadata API (its README: "Reflect Polyfill Required").
 * tsyringe calls Reflect.getMetadata, getOwnMetadata and defineMetadata only, so
 * just those three come from core-js (one of the polyfills the README names),
 * not a whole-environment polyfill. Imported by x509.ts before the library.
 */
import 'core-js/modules/esnext.reflect.define-metadata.js';
import 'core-js/modules/esnext.reflect.get-metadata.js';
import 'core-js/modules/esnext.reflect.get-own-metadata.js';
