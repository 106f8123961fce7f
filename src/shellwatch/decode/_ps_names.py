"""Well-known PowerShell names as they are usually written: what random casing is put back to.

Only these names are ever re-cased, so user strings, paths and unknown commands stay exactly as they are.
The command names also decide whether a ``Get-Command`` wildcard (``gcm *ke-e*``) can only mean
``Invoke-Expression``.
"""

from __future__ import annotations

from typing import Final

_CMDLETS: Final = """
Add-Content Add-Member Add-Type Clear-Content Clear-EventLog Clear-History Clear-Item Clear-Variable
Compare-Object Compress-Archive ConvertFrom-Csv ConvertFrom-Json ConvertFrom-SecureString
ConvertFrom-StringData ConvertTo-Csv ConvertTo-Html ConvertTo-Json ConvertTo-SecureString ConvertTo-Xml
Copy-Item Copy-ItemProperty Disable-PSRemoting Enable-PSRemoting Enter-PSSession Exit-PSSession
Expand-Archive Export-Alias Export-Clixml Export-Csv Export-ModuleMember ForEach-Object Format-List
Format-Table Format-Wide Get-Acl Get-Alias Get-AuthenticodeSignature Get-ChildItem Get-CimInstance
Get-Clipboard Get-Command Get-Content Get-Credential Get-Culture Get-Date Get-Event Get-EventLog
Get-ExecutionPolicy Get-FileHash Get-Help Get-History Get-Host Get-Item Get-ItemProperty Get-Job
Get-LocalGroup Get-LocalGroupMember Get-LocalUser Get-Location Get-Member Get-Module Get-NetAdapter
Get-NetIPAddress Get-NetTCPConnection Get-PSDrive Get-Process Get-Random Get-ScheduledTask Get-Service
Get-Unique Get-Variable Get-WinEvent Get-WmiObject Group-Object Import-Clixml Import-Csv Import-Module
Invoke-CimMethod Invoke-Command Invoke-Expression Invoke-History Invoke-Item Invoke-RestMethod
Invoke-WebRequest Invoke-WmiMethod Join-Path Measure-Object Move-Item New-Alias New-Item
New-ItemProperty New-LocalUser New-Module New-Object New-PSDrive New-PSSession New-ScheduledTask
New-ScheduledTaskAction New-ScheduledTaskTrigger New-Service New-Variable Out-File Out-Host Out-Null
Out-String Read-Host Register-ScheduledTask Remove-Item Remove-ItemProperty Remove-Job Remove-Module
Remove-Variable Remove-WmiObject Rename-Item Resolve-Path Restart-Computer Restart-Service Select-Object
Select-String Send-MailMessage Set-Acl Set-Alias Set-Content Set-ExecutionPolicy Set-Item
Set-ItemProperty Set-Location Set-MpPreference Set-Service Set-StrictMode Set-Variable Sort-Object
Split-Path Start-BitsTransfer Start-Job Start-Process Start-Service Start-Sleep Start-Transcript
Stop-Computer Stop-Job Stop-Process Stop-Service Stop-Transcript Tee-Object Test-Connection Test-Path
Unblock-File Update-Help Wait-Job Wait-Process Where-Object Write-Debug Write-Error Write-Host
Write-Information Write-Output Write-Progress Write-Verbose Write-Warning
"""
_ALIASES: Final = """
ac cat cd chdir clc clear cls cp cpi cpp curl del diff dir echo epal epcsv erase etsn exsn fc fl foreach
ft fw gal gc gci gcm gcs gdr ghy gi gjb gl gm gmo gp gps group gsv gu gv gwmi h history icm iex ihy ii
ipal ipcsv ipmo irm iwmi iwr kill ls man md measure mi mount move mp mv nal ndr ni nmo nsn nv ogv oh
popd ps pushd pwd r rbp rcjb rd rdr ren ri rjb rm rmdir rmo rni rnp rp rsn rv rvpa rwmi sajb sal saps
sasv sbp sc select set shcm si sl sleep sls sort sp spjb spps spsv start sv swmi tee trcm type wget
where wjb write
"""
_KEYWORDS: Final = """
Begin Break Catch Class Continue Data Do DynamicParam Else ElseIf End Exit Filter Finally For ForEach
Function If In Param Process Return Switch Throw Trap Try Until While
"""
_TYPES_AND_MEMBERS: Final = """
String Char Int Int16 Int32 Int64 Byte Convert ScriptBlock Array Regex Math Text.Encoding
Text.Encoding.ASCII Text.Encoding.Unicode Text.Encoding.UTF8 IO.MemoryStream IO.StreamReader
IO.Compression.GzipStream IO.Compression.DeflateStream IO.Compression.CompressionMode Net.WebClient
Reflection.Assembly Runtime.InteropServices.Marshal Environment Diagnostics.Process
Diagnostics.ProcessStartInfo Management.Automation.PSCredential Security.SecureString Object PSObject
Unicode UTF8 ASCII Decompress GetString FromBase64String ToBase64String ReadToEnd ToString ToCharArray
Replace Split Join Create Invoke Reverse Substring ToLower ToUpper Trim Insert Length Count Value Name
DownloadString DownloadFile DownloadData UploadString OpenRead ToInt16 ToInt32 ToByte Load GetType
GetMethod GetField GetValue SetValue Start Headers Proxy Credentials DefaultCredentials
DefaultNetworkCredentials PtrToStringAuto PtrToStringBSTR SecureStringToBSTR Text Content SecurityProtocol
ServicePointManager
ServerCertificateValidationCallback UseDefaultCredentials CurrentDomain GetAssemblies DefineDynamicAssembly
OpenReadWrite ExpandEnvironmentVariables GetFolderPath PSVersion Major Minor Assembly Ref GetTypes
Add Remove Contains StartsWith EndsWith IndexOf Equals Keys Values Item Proxy
"""
_VARIABLES: Final = """
PSHome ShellId VerbosePreference DebugPreference WarningPreference ErrorActionPreference
ProgressPreference ConfirmPreference MaximumDriveCount PSVersionTable ExecutionContext PSScriptRoot
env:ComSpec env:Public env:windir env:SystemRoot env:TEMP env:APPDATA env:USERPROFILE env:COMPUTERNAME
env:USERNAME env:ProgramData env:LOCALAPPDATA
"""
_OPERATORS: Final = """
join split replace creplace ireplace f bxor band bor as is eq ne gt ge lt le like match contains in not
and or xor
"""


def _names(*blocks: str) -> list[str]:
    return [name for block in blocks for name in block.split()]


CANONICAL: Final = {
    name.lower(): name
    for name in _names(_CMDLETS, _ALIASES, _KEYWORDS, _TYPES_AND_MEMBERS, _VARIABLES, _OPERATORS)
}
"""Lower-case name → usual spelling (cmdlets, aliases, keywords, types, members, variables, operators)."""

COMMANDS: Final = frozenset(name.lower() for name in _names(_CMDLETS, _ALIASES))
"""Lower-case names of the well-known commands and aliases."""

OPERATORS: Final = frozenset(_names(_OPERATORS))
"""The dash operators (``join``, ``replace`` ...), lower case; other dash words are parameters."""
