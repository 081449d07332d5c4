/* The accounts service as the runtime runs it. Its RPCs arrive with its own issue; until then
 * each answers UNIMPLEMENTED, and the service serves health, migrations and its own database. */
#include "accounts_service.h"

#include "helpdesk/v1/accounts.pb-c.h"

extern const hd_migration accounts_migrations[];

const hd_service_def accounts_service_def = {
    .name = "accounts",
    .default_port = 50053,
    .descriptor = &helpdesk__v1__account_service__descriptor,
    .migrations = accounts_migrations,
};
