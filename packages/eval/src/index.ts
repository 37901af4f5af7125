// Public surface of this package. It is empty until its issue lands: no placeholder
// functions are exported in the meantime (see README.md for what is planned).
export {};
