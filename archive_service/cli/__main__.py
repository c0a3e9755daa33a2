from archive_service.cli import main

main()
