/* helpdesk-tickets: the ticket service. */
#include "tickets_service.h"

int main(void) { return hd_service_main(&tickets_service_def); }
