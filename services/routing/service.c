/* The routing service as the runtime runs it. Its RPCs arrive with its own issue; until then each
 * answers UNIMPLEMENTED, and the service serves health, migrations and its own database. */
#include "routing_service.h"

#include "helpdesk/v1/routing.pb-c.h"

extern const hd_migration routing_migrations[];

const hd_service_def routing_service_def = {
    .name = "routing",
    .default_port = 50052,
    .descriptor = &helpdesk__v1__routing_service__descriptor,
    .migrations = routing_migrations,
    /* Claims are leases and fencing tokens in Redis: without Redis routing cannot hand out a
     * ticket safely, so readiness follows Redis as well as MariaDB (architecture.md). */
    .needs_redis = true,
};
