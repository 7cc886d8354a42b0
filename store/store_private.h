/*
 * store_private.h - internals of the store for its own tests and tools.
 * Not part of the API: nothing outside store/ and test/store/ includes it.
 */
#ifndef STORE_PRIVATE_H
#define STORE_PRIVATE_H

#include <lmdb.h>

struct store;

/* The LMDB environment behind a store (borrowed; valid until store_close). */
MDB_env *store__env(struct store *st);

#endif
