from shellwatch.cli import main

main()
