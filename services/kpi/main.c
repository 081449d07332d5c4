/* helpdesk-kpi: the kpi service. Its RPCs arrive with its own issue; until then each answers
 * UNIMPLEMENTED, and the service serves health, migrations and its own database. */
#include "helpdesk/v1/kpi.pb-c.h"
#include "svc/service.h"

extern const hd_migration kpi_migrations[];

int main(void) {
  const hd_service_def def = {
      .name = "kpi",
      .default_port = 50054,
      .descriptor = &helpdesk__v1__kpi_service__descriptor,
      .migrations = kpi_migrations,
  };
  return hd_service_main(&def);
}
