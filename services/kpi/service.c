/* The kpi service as the runtime runs it. Its RPCs arrive with its own issue; until then each
 * answers UNIMPLEMENTED, and the service serves health, migrations and its own database. */
#include "kpi_service.h"

#include "helpdesk/v1/kpi.pb-c.h"

extern const hd_migration kpi_migrations[];

const hd_service_def kpi_service_def = {
    .name = "kpi",
    .default_port = 50054,
    .descriptor = &helpdesk__v1__kpi_service__descriptor,
    .migrations = kpi_migrations,
};
