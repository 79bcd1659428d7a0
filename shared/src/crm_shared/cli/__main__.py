from crm_shared.cli import main

main()
