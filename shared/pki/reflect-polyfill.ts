/**
 * @peculiar/x509 resolves its algorithms through tsyringe, which refuses to load
 * without the Reflect metadata API (its README: "Reflect Polyfill Required").
 * reflect-metadata is the polyfill tsyringe's README names first; x509.ts imports
 * this module before the library.
 */
import 'reflect-metadata';
