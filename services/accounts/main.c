/* helpdesk-accounts: the accounts service. Its RPCs arrive with its own issue; until then each
 * answers UNIMPLEMENTED, and the service serves health, migrations and its own database. */
#include "helpdesk/v1/accounts.pb-c.h"
#include "svc/service.h"

extern const hd_migration accounts_migrations[];

int main(void) {
  const hd_service_def def = {
      .name = "accounts",
      .default_port = 50053,
      .descriptor = &helpdesk__v1__account_service__descriptor,
      .migrations = accounts_migrations,
  };
  return hd_service_main(&def);
}
