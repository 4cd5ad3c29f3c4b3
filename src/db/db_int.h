/* db's private header: the driver vtable and the embedded migrations. */
#ifndef TROUPE_DB_INT_H
#define TROUPE_DB_INT_H

#include "db.h"

struct db_migration {
	int version;
	const char *name;
	const char *sql;
};
/* Generated at build time; terminated by version 0. */
extern const struct db_migration db_migrations[];

#endif
