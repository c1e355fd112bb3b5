from osteosim.cli import main

main()
