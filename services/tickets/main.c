/* helpdesk-tickets: the ticket service. */
#include "helpdesk/v1/tickets.pb-c.h"
#include "svc/service.h"

extern const hd_migration tickets_migrations[];

int main(void) {
  const hd_service_def def = {
      .name = "tickets",
      .default_port = 50051,
      .descriptor = &helpdesk__v1__ticket_service__descriptor,
      .migrations = tickets_migrations,
  };
  return hd_service_main(&def);
}
