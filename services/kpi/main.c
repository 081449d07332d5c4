/* helpdesk-kpi: the kpi service. */
#include "kpi_service.h"

int main(void) { return hd_service_main(&kpi_service_def); }
