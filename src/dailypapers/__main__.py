from dailypapers.cli.commands import main

main()
