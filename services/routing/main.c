/* helpdesk-routing: the routing service. */
#include "routing_service.h"

int main(void) { return hd_service_main(&routing_service_def); }
