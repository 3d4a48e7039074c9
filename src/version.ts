export const PACKAGE_NAME = 'miredo-ts';
export const PACKAGE_VERSION = '0.1.0';
