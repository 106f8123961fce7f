"""What a default Windows 10 host shows cmd.exe: its environment, and the ``assoc`` and ``ftype`` tables.

Obfuscators take single characters from these (``%COMSPEC:~-7,1%`` is ``c``) and run
``for /f ... in ('assoc ^| findstr mdf')`` to get the word ``cmd`` without writing it, so the emulation
needs the values a stock install has. User-specific values use a neutral user name.
"""

from __future__ import annotations

from typing import Final

ENVIRONMENT: Final[tuple[tuple[str, str], ...]] = (
    ("ALLUSERSPROFILE", r"C:\ProgramData"),
    ("APPDATA", r"C:\Users\user\AppData\Roaming"),
    ("CommonProgramFiles", r"C:\Program Files\Common Files"),
    ("CommonProgramFiles(x86)", r"C:\Program Files (x86)\Common Files"),
    ("CommonProgramW6432", r"C:\Program Files\Common Files"),
    ("COMPUTERNAME", "DESKTOP"),
    ("ComSpec", r"C:\Windows\system32\cmd.exe"),
    ("DriverData", r"C:\Windows\System32\Drivers\DriverData"),
    ("HOMEDRIVE", "C:"),
    ("HOMEPATH", r"\Users\user"),
    ("LOCALAPPDATA", r"C:\Users\user\AppData\Local"),
    ("LOGONSERVER", r"\\DESKTOP"),
    ("NUMBER_OF_PROCESSORS", "4"),
    ("OneDrive", r"C:\Users\user\OneDrive"),
    ("OS", "Windows_NT"),
    (
        "Path",
        r"C:\WINDOWS\system32;C:\WINDOWS;C:\WINDOWS\System32\Wbem;"
        r"C:\WINDOWS\System32\WindowsPowerShell\v1.0\;C:\WINDOWS\System32\OpenSSH\;"
        r"C:\Users\user\AppData\Local\Microsoft\WindowsApps;",
    ),
    ("PATHEXT", ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC"),
    ("PROCESSOR_ARCHITECTURE", "AMD64"),
    ("PROCESSOR_IDENTIFIER", "Intel64 Family 6 Model 158 Stepping 10, GenuineIntel"),
    ("PROCESSOR_LEVEL", "6"),
    ("PROCESSOR_REVISION", "9e0a"),
    ("ProgramData", r"C:\ProgramData"),
    ("ProgramFiles", r"C:\Program Files"),
    ("ProgramFiles(x86)", r"C:\Program Files (x86)"),
    ("ProgramW6432", r"C:\Program Files"),
    ("PROMPT", "$P$G"),
    (
        "PSModulePath",
        r"C:\Program Files\WindowsPowerShell\Modules;C:\Windows\system32\WindowsPowerShell\v1.0\Modules",
    ),
    ("PUBLIC", r"C:\Users\Public"),
    ("SESSIONNAME", "Console"),
    ("SystemDrive", "C:"),
    ("SystemRoot", r"C:\WINDOWS"),
    ("TEMP", r"C:\Users\user\AppData\Local\Temp"),
    ("TMP", r"C:\Users\user\AppData\Local\Temp"),
    ("USERDOMAIN", "DESKTOP"),
    ("USERDOMAIN_ROAMINGPROFILE", "DESKTOP"),
    ("USERNAME", "user"),
    ("USERPROFILE", r"C:\Users\user"),
    ("windir", r"C:\WINDOWS"),
)

ASSOC: Final[tuple[str, ...]] = (
    ".bat=batfile",
    ".cdxml=Microsoft.PowerShellCmdletDefinitionXML.1",
    ".cmd=cmdfile",
    ".com=comfile",
    ".cpl=cplfile",
    ".exe=exefile",
    ".hta=htafile",
    ".inf=inffile",
    ".ini=inifile",
    ".js=JSFile",
    ".lnk=lnkfile",
    ".msc=MSCFile",
    ".msi=Msi.Package",
    ".ps1=Microsoft.PowerShellScript.1",
    ".ps1xml=Microsoft.PowerShellXMLData.1",
    ".psd1=Microsoft.PowerShellData.1",
    ".psc1=Microsoft.PowerShellConsole.1",
    ".psm1=Microsoft.PowerShellModule.1",
    ".reg=regfile",
    ".scr=scrfile",
    ".txt=txtfile",
    ".vbs=VBSFile",
    ".wsf=WSFFile",
    ".xml=xmlfile",
    ".zip=CompressedFolder",
)

FTYPE: Final[tuple[str, ...]] = (
    'batfile="%1" %*',
    'cmdfile="%1" %*',
    'comfile="%1" %*',
    'exefile="%1" %*',
    'htafile=C:\\Windows\\SysWOW64\\mshta.exe "%1" {1E460BD7-F1C3-4B2E-88BF-4E770A288AF5}%U'
    "{1E460BD7-F1C3-4B2E-88BF-4E770A288AF5} %*",
    "inffile=%SystemRoot%\\System32\\NOTEPAD.EXE %1",
    'JSFile=%SystemRoot%\\System32\\WScript.exe "%1" %*',
    'Microsoft.PowerShellConsole.1="C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" -p "%1"',
    'Microsoft.PowerShellData.1="C:\\Windows\\System32\\notepad.exe" "%1"',
    'Microsoft.PowerShellModule.1="C:\\Windows\\System32\\notepad.exe" "%1"',
    'Microsoft.PowerShellScript.1="C:\\Windows\\System32\\notepad.exe" "%1"',
    'regfile=regedit.exe "%1"',
    "SHCmdFile=%SystemRoot%\\explorer.exe",
    "txtfile=%SystemRoot%\\system32\\NOTEPAD.EXE %1",
    'VBSFile="%SystemRoot%\\System32\\WScript.exe" "%1" %*',
)
