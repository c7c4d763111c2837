// Moved to shared/ (a leaf both src/ and checkers/ import); kept so src/ imports stay as they are.
export * from '../../shared/redact.js';
