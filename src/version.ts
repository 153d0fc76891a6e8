/** The keycast release: the one place the version is written. */
export const VERSION = "0.1.0";
