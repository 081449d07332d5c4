/* helpdesk-routing: the routing service. Its RPCs arrive with its own issue; until then each answers
 * UNIMPLEMENTED, and the service serves health, migrations and its own database. */
#include "helpdesk/v1/routing.pb-c.h"
#include "svc/service.h"

extern const hd_migration routing_migrations[];

int main(void) {
  const hd_service_def def = {
      .name = "routing",
      .default_port = 50052,
      .descriptor = &helpdesk__v1__routing_service__descriptor,
      .migrations = routing_migrations,
  };
  return hd_service_main(&def);
}
